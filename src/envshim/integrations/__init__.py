"""Optional integrations: pydantic-settings, pytest, IPython/Jupyter.

Each module imports its framework at the top and is imported only by that framework
(a settings class, pytest's ``pytest11`` entry point, ``%load_ext envshim``): the core
never imports anything from here.
"""
