"""The demo province: data, loader and simulated activity. Sits above every other package."""
