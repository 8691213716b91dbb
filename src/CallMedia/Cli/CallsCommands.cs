using System.Globalization;
using CallMedia.Calls;
using CallMedia.Delivery;

namespace CallMedia.Cli;

/// <summary><c>callmedia calls list</c>.</summary>
public static class CallsCommands
{
    public static async Task<int> RunAsync(CliArgs cli, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        var verb = cli.Word(1, "calls command (list)");
        if (verb != "list")
        {
            throw new UsageException($"unknown calls command '{verb}'");
        }

        var limit = cli.Option("--limit") is { } l
            ? int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UsageException("--limit must be a positive number")
            : 1000;
        var filter = new CoupleFilter(Time(cli.Option("--from"), "--from"), Time(cli.Option("--to"), "--to"), cli.Option("--number"), cli.Option("--sid"), limit);
        var couples = await services.GetRequiredService<CallStore>().ListAsync(filter, ct);
        await CliApp.WriteListAsync(
            cli,
            console,
            couples,
            c => $"{c.Id}\t{c.Sid}\t{CallDataManifest.Iso(c.Start)}\t{CallDataManifest.Iso(c.Stop)}\t{c.CallingNumber}\t{c.CalledNumber}\t{string.Join(',', MediaType.Names(c.Types))}",
            c => new
            {
                id = c.Id,
                sid = c.Sid,
                start = CallDataManifest.Iso(c.Start),
                stop = CallDataManifest.Iso(c.Stop),
                callingNumber = c.CallingNumber,
                callingName = c.CallingName,
                calledNumber = c.CalledNumber,
                calledName = c.CalledName,
                types = MediaType.Names(c.Types),
            });
        return 0;
    }

    public static DateTimeOffset? Time(string? value, string option)
    {
        if (value is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : throw new UsageException($"{option} must be a time such as 2026-11-16 or 2026-11-16T08:00:00Z");
    }
}
