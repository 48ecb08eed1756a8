"""Reviewed rule data (TOML), read by the domain modules: every entry names its source.

``keywords/<lang>.toml`` holds the inbound reply keywords and phrases per language and
``confusables.toml`` the look-alike letters folded by ``consentry.domain.keywords``.
"""
