"""The models of `config/policy/*.yaml`, one module per file, strict and cited.

`bot.policy.params` reads the files into these models and assembles the
`Policy`; nothing here reads a file.
"""
