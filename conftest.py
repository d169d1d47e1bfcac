"""Repository-wide pytest set-up: nbval grading hooks for the chapter notebooks."""

pytest_plugins = ["toolkit.course.nbval_plugin"]
