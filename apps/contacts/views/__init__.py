"""Contacts pages, one module per area: contacts.py (list, card, form, import/export)."""
