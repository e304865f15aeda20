"""Scout-and-Wave IMPL docs, the plans of the closest peer, read into wavedeck's plan model.

``markdown`` recognises SAW's Markdown IMPL docs while the shape reader walks them (completion
reports, typed blocks, its sections); ``yamltext`` loads a YAML manifest safely, keeping each
value's line; ``schema`` mirrors the manifest's JSON Schema as frozen models and validates a
manifest against it, reporting every unknown or invalid field with its line; ``manifest`` reads
a validated manifest into the plan model; ``gates`` turns quality gates into test commands.
"""
