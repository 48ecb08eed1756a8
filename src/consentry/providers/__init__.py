"""What consentry needs to speak each messaging provider's protocol (no SDK required)."""
