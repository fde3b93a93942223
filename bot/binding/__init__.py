"""Binding a chat account to a trainee, institution contact or staff record (ID + phone, or a bind code).

Its conversation is `handlers/binding.py`; texts in `config/messages/binding.yaml`.
"""
