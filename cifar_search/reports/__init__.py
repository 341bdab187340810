"""What the commands report about a sweep's recorded results: ``export`` (a study's trials
table as CSV, Parquet or JSON; reads the stores only) and ``compare`` (every engine's candidates
side by side, through the engine registry; the comparison is logged on the study's parent run).
"""
