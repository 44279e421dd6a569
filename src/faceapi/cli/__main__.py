from faceapi.cli.main import main

main()
