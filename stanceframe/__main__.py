from stanceframe.cli import main

main()
