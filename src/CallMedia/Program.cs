using CallMedia.Cli;

return await CliApp.RunAsync(args, new CliConsole(Console.In, Console.Out, Console.Error, !Console.IsInputRedirected, !Console.IsErrorRedirected));
