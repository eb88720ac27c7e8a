from copswatch.cli import main

main()
