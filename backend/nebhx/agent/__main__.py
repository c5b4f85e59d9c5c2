from nebhx.agent.main import main

main()
