"""What the practitioners' pages need beyond the API clients: who is signed in, the personas of the embedded
default, the menu, and turning the APIs' answers into what a busy practitioner reads."""
