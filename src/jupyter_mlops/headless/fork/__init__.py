"""Fresh kernels at fork speed: a template that imported a preload set forks each kernel.

:mod:`.template` is the template (a standard-library script run by the kernel's
interpreter), :mod:`.templates` finds, starts and retires templates, :mod:`.preload`
decides what a template imports, and :mod:`.provisioner` is the jupyter_client
provisioner through which headless runs get their forked kernels.
"""
