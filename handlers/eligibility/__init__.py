"""The eligibility conversation: a screening under 第十二条/第十五条, one short question at a time.

Why it is shaped like this:
- The policy engine (`bot.policy.eligibility.assess`) decides; the flow only
  asks what the engine's `missing` says can still change the outcome, in the
  configured order, so the conversation is exactly as long as the law needs.
- The answers live in `ChatUser.profile` under the contract's field names and
  are saved after every answer: later flows (documents, claims) read them, and
  a screening dropped for any reason (取消, a change of topic, a restart, a
  day's pause) can be continued instead of asked again.
- "不清楚" is an answer: the field stays unknown, never "no", and is not asked
  again in this run; the result then says what is still to be found out.
- Every word the flow says or recognises is in `config/messages/eligibility.yaml`.

- Facts said in passing ("我今年62了，哪有退休金啊") are read from every
  message by `nlu.facts` (the engine puts them on the Context); `person`
  takes them into the answers, confirms them in one line and works the
  retirement question out from an age (`bot.policy.retirement`). The newest
  statement of a fact wins, so "说错了…" corrects it.
- The verdict is short (one sentence, the decisive reason and its article);
  "详细说说" gives the full reasoning, subsidies and papers.

Modules: `store` (the saved answers), `answers` (reading free answers),
`person` (facts, age and sex), `questions` (which question next), `result`
(the result in Chinese), `asking` (wording helpers), `flow` (the
conversation itself, registered on import).
"""

from handlers.eligibility.flow import FLOW, EligibilityFlow, check_eligibility

__all__ = ["FLOW", "EligibilityFlow", "check_eligibility"]
