"""Agents: scripted, searching and learned policies over protocol moves (`search` is the one PUCT search over mctx)."""
