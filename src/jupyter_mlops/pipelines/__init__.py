"""Headless notebook execution (papermill), reproduction of past runs, and pipelines.

Pure services: nothing here imports IPython, ipywidgets, tornado or jupyter_server.
"""
