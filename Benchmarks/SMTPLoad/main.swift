SMTPLoadCommand.main()
