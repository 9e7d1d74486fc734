"""What finpulse says about itself on HTTP requests (feeds ask for a descriptive agent)."""

USER_AGENT = "finpulse/0.1 (+https://github.com/finpulse/finpulse)"
