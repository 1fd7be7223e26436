"""Fixed identities of the demo, shared by the demo runner and the CLI's demo-page links."""

DEMO_BOT_ID = "7000000001"
DEMO_BOT_TOKEN = f"{DEMO_BOT_ID}:pintu-demo-token"
DEMO_BOT_USERNAME = "PintuDemoBot"
