"""The course's exercise notebooks; ``exercises.checks.check`` runs their checks."""
