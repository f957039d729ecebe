"""Where student code runs: a zygote that forks one isolated process per notebook, and that process's agent."""
