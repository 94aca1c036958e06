"""The pure domain: commands, the Report aggregate (decide/evolve) and its rules."""
