"""Tables, figures and transcripts rendered purely from a workdir's records, and the table writers they share."""
