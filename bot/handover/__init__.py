"""Hand-over to a person (转人工): routing, working hours, the staff reply, the bot stepping aside.

`service` holds every state change (waiting → held → closed/returned);
`turn` is the conversation side the engine calls; `delivery` gets a staff
message to the user's channel; `inbox` is the scoped list staff read;
`job` registers the hand-back clock.
"""
