"""Online meetings across bridge points (điểm cầu) on a self-hosted Jitsi Meet."""
