return OnnxTransfer.Cli.CliApp.Run(args);
