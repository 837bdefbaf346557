from hullcheck.cli import main

main()
