"""Dashboard plumbing shared by the pages: the service container, the signed-in actor, widgets.

Pages stay thin: read widgets, call one service, render the result. No SQL, sessions or HTTP here.
"""
