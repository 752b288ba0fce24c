from omega_db.cli import main

main()
