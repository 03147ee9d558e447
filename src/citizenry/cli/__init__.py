"""The ``citizenry`` command: serving, migrations, administration and the demo nation."""
