from pixelgen.fastcli import main

main()
