"""The control room's widgets: agent panes, the log view and its history view, wave bar, strips."""
