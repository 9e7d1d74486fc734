"""The stream shell: the Faust app and its agents, the alert stream, notifiers, offload."""
