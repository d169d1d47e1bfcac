"""Course tooling: the chapter notebooks, their learner versions and grading (chapters 1-6).

It sits on top of the toolkit and is never imported by the training code.
"""
