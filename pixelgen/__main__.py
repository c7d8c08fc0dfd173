from pixelgen.cli import main

main()
