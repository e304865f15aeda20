"""Reading a plan: Markdown text into the frozen plan model, with what the reader met on the way.

``loader`` reads a file safely, ``parser`` chooses the reader (the reference format, or the shapes
people write), and the rest are the small grammars and tables those readers share.
"""
