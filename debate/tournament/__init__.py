"""Guard-vs-Houdini tournaments from result records: Elo, accuracy against Elo, scaling fits.

Every grid cell of a protocol with a liar is a match between two players:

- the **guard**: the judge together with the honest side (named by the record's ``judge``);
- the **houdini**: the liar, named by the record's ``agent``, its strength name shared across
  protocols: ``random`` (debate/random and consultancy's uniform one-error liar), ``greedy``
  (debate only), ``search:B`` (B units of search: debate/mcts:B, consultancy/search:B) and
  ``oracle`` (the exact best response). Direct judging has no liar (``agent`` is null).

The guard wins a game when the verdict is correct: guard wins = ``correct``, houdini wins =
``games - correct``. Records of several seeds of the same (protocol, judge, agent, T) are pooled by
summing ``games`` and ``correct``. Records written before the ``agent`` field existed are read too
(``pooling.agent_of``).

The modules, each importing only those above it:

- ``pooling``: agent names and their strength order, merging workdirs, pooling seeds, counts per seed;
- ``elo``: guard-vs-houdini matrices and role-specific Elo (``debate.analysis.ratings`` does the maths);
- ``placement``: the general-strength axis (log2 FLOPs per debate game) shared by both roles;
- ``fitting``: accuracy against Elo and against general strength, domain-Elo scaling fits and nested
  scalable oversight (``debate.analysis.scaling`` holds the models);
- ``tables``: Markdown, LaTeX and CSV tables of all of these, and the JSON of scaling.json;
- ``figures``: the matplotlib figures.

``launch.report`` drives them from workdirs.
"""
