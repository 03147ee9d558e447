from citizenry.cli.main import main

main()
