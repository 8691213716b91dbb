using System.CommandLine;
using System.Globalization;
using CallMedia.Calls;
using CallMedia.Delivery;

namespace CallMedia.Cli;

/// <summary><c>callmedia calls list</c>.</summary>
public static class CallsCommands
{
    public static Command Create(CliContext cli)
    {
        var json = CliContext.Json();
        var from = From();
        var to = To();
        var number = CliContext.Value("--number", "n", "only calls from or to this number");
        var sid = CliContext.Value("--sid", "sid", "only the call with this recorder id");
        var limit = CliContext.Value("--limit", "n", "at most this many calls (default 1000)");
        var list = CliContext.Verb("list", "list the stored calls (couples)", json, from, to, number, sid, limit);
        cli.WithServices(list, async (p, services, ct) =>
        {
            var max = p.GetValue(limit) is { } l
                ? int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UsageException("--limit must be a positive number")
                : 1000;
            var filter = new CoupleFilter(Time(p.GetValue(from), "--from"), Time(p.GetValue(to), "--to"), p.GetValue(number), p.GetValue(sid), max);
            var couples = await services.GetRequiredService<CallStore>().ListAsync(filter, ct);
            await CliApp.WriteListAsync(
                p.GetValue(json),
                cli.Console,
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
        });
        return CliContext.Verb("calls", "look at the stored calls", list);
    }

    public static Option<string> From() => CliContext.Value("--from", "time", "from this time on, e.g. 2026-11-16 or 2026-11-16T08:00:00Z");

    public static Option<string> To() => CliContext.Value("--to", "time", "up to this time");

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
