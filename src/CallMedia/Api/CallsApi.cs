using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Delivery;
using CallMedia.Media;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMedia.Api;

/// <summary>Calls: search, detail, waveform peaks, and who accessed a call. Only calls in the caller's scope exist.</summary>
public static class CallsApi
{
    private const string NoSuchCall = "No such call.";

    public static void MapCallsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/calls", SearchAsync).WithSummary("Search calls, newest first, one page at a time.");
        api.MapGet("/calls/{id}", DetailAsync).ProducesProblem(StatusCodes.Status404NotFound).WithSummary("One call with its files, jobs and what the caller may do.");
        api.MapGet("/calls/{id}/peaks", PeaksAsync)
            .Produces<Peaks>(StatusCodes.Status200OK, "application/json")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Waveform peaks of the call's audio (cached; ETag).");
        api.MapCallsCsv();
        api.MapGet("/calls/{id}/access", AccessAsync).ProducesProblem(StatusCodes.Status404NotFound).WithSummary("Who listened to or downloaded the call (right audit).");
    }

    public static async Task<Ok<CallPage>> SearchAsync(
        HttpContext context,
        CallSearch search,
        string? from = null,
        string? to = null,
        string? tz = null,
        string? number = null,
        string? name = null,
        string? sid = null,
        string? has = null,
        string? minDuration = null,
        string? maxDuration = null,
        string? limit = null,
        string? cursor = null)
    {
        var zone = ApiInput.Zone(tz);
        var query = Query(from, to, zone, number, name, sid, has, minDuration, maxDuration, ApiInput.Limit(limit), string.IsNullOrEmpty(cursor) ? null : cursor);
        var page = await SearchPageAsync(search, ApiCaller.Of(context).User, query, context.RequestAborted);
        return TypedResults.Ok(new CallPage { Items = page.Items.Select(c => Summary(c, zone)).ToList(), Next = page.Next });
    }

    /// <summary>The search filters of <c>/calls</c> and <c>/calls.csv</c>, each checked with its parameter's name.</summary>
    public static CallSearchQuery Query(
        string? from, string? to, TimeZoneInfo? zone, string? number, string? name, string? sid, string? has, string? minDuration, string? maxDuration, int limit, string? cursor) =>
        new(
            ApiInput.Time(from, "from", zone),
            ApiInput.Time(to, "to", zone),
            Clean(number, "number"),
            Clean(name, "name"),
            Clean(sid, "sid"),
            has switch
            {
                null or "" => null,
                "audio" => MediaPresence.Audio,
                "video" => MediaPresence.Video,
                "unmixed" => MediaPresence.Unmixed,
                _ => throw new ApiInputException("has must be audio, video or unmixed.", "has"),
            },
            ApiInput.Seconds(minDuration, "minDuration") is { } min ? TimeSpan.FromSeconds(min) : null,
            ApiInput.Seconds(maxDuration, "maxDuration") is { } max ? TimeSpan.FromSeconds(max) : null,
            limit,
            cursor);

    /// <summary>One page of a search; a search the caller got wrong is a 400 naming the cursor where it is at fault.</summary>
    public static async Task<(IReadOnlyList<Couple> Items, string? Next)> SearchPageAsync(CallSearch search, UserAccess user, CallSearchQuery query, CancellationToken ct)
    {
        try
        {
            var page = await search.SearchAsync(user, query, ct);
            return (page.Items, page.NextCursor);
        }
        catch (InvalidSearchException ex)
        {
            // A parameter the search names, the cursor, or the combination (no one parameter to name).
            if (ex.Parameter is { } parameter)
            {
                throw new ApiInputException(ex.Message + ".", parameter);
            }

            var field = ex.Message.Contains("cursor", StringComparison.Ordinal) ? "cursor" : null;
            throw new ApiInputException(field is null ? ex.Message + "." : "cursor is not one this search handed out (pass the 'next' value unchanged, with the same filters).", field);
        }
    }

    public static async Task<Results<Ok<CallDetail>, ProblemHttpResult>> DetailAsync(
        string id, HttpContext context, CallStore calls, DeliveryPlanner planner, Database db, string? tz = null)
    {
        var zone = ApiInput.Zone(tz);
        var caller = ApiCaller.Of(context);
        if (await VisibleAsync(context, id) is not { } couple)
        {
            return ApiProblems.NotFound(NoSuchCall);
        }

        var ct = context.RequestAborted;
        var files = (await calls.GetFilesAsync([couple.Id], ct))[couple.Id].ToList();
        List<Job> jobs;
        await using (var connection = await db.OpenAsync(ct))
        {
            jobs = (await connection.QueryAsync<JobStatus>(
                "SELECT id, couple_id, state, progress, error FROM jobs WHERE couple_id = @Id ORDER BY id DESC LIMIT 10", new { couple.Id }))
                .Select(ToJob).ToList();
        }

        var user = caller.User;
        bool Has(int type) => (couple.Types & type) != 0;
        var summary = Summary(couple, zone);
        return TypedResults.Ok(new CallDetail
        {
            Id = summary.Id,
            Sid = summary.Sid,
            Start = summary.Start,
            Stop = summary.Stop,
            StartLocal = summary.StartLocal,
            StopLocal = summary.StopLocal,
            DurationSeconds = summary.DurationSeconds,
            Calling = summary.Calling,
            Called = summary.Called,
            Media = summary.Media,
            Files = files.Select(f => new CallFile
            {
                Type = MediaType.Names(f.Type) is [var first, ..] ? first : "other",
                Format = f.Format,
                Size = f.Size,
                DurationSeconds = f.StopAt > f.StartAt ? (f.StopAt - f.StartAt) / 1000.0 : null,
                Crc32 = f.Crc32.ToString("X8", CultureInfo.InvariantCulture),
                Start = DateTimeOffset.FromUnixTimeMilliseconds(f.StartAt),
                Stop = DateTimeOffset.FromUnixTimeMilliseconds(f.StopAt),
                Available = planner.Exists(f),
            }).ToList(),
            Jobs = jobs,
            Actions = new CallActions
            {
                Stream = Has(MediaType.Audio) && user.Has(Rights.AudioStream),
                Download = Has(MediaType.Audio) && user.Has(Rights.AudioDownload),
                StreamVideo = Has(MediaType.Video) && user.Has(Rights.VideoStream),
                DownloadVideo = Has(MediaType.Video) && user.Has(Rights.VideoDownload),
                Prepare = Has(MediaType.Recd) && !Has(MediaType.Video) && user.Has(Rights.VideoPrepare),
            },
        });
    }

    public static async Task<IResult> PeaksAsync(string id, HttpContext context, CallStore calls, WaveformPeaks peaks)
    {
        var caller = ApiCaller.Of(context);
        if (await VisibleAsync(context, id) is not { } couple)
        {
            return ApiProblems.NotFound(NoSuchCall);
        }

        if (!caller.User.Has(Rights.AudioStream))
        {
            return ApiProblems.Forbidden("Peaks need the right audio.stream.");
        }

        var sources = WaveformPeaks.Sources((await calls.GetFilesAsync([couple.Id], context.RequestAborted))[couple.Id]);
        return sources.Count == 0 ? ApiProblems.NotFound("This call has no audio.") : await peaks.ResultAsync(context, sources);
    }

    public static async Task<Results<Ok<AccessList>, ProblemHttpResult>> AccessAsync(string id, HttpContext context, AuditQuery audit)
    {
        var user = ApiCaller.Of(context).User;
        if (await VisibleAsync(context, id) is not { } couple)
        {
            return ApiProblems.NotFound(NoSuchCall);
        }

        if (!user.Has(Rights.Audit) && !user.Has(Rights.Admin))
        {
            return ApiProblems.Forbidden("Reading a call's access needs the right audit.");
        }

        var rows = await audit.ListAsync(new AuditFilter(CoupleId: couple.Id, Limit: 1000), context.RequestAborted);
        return TypedResults.Ok(new AccessList
        {
            // The records of a zip name other couples too; only this call's id is given away (it is in the URL).
            Items = rows.Select(r => new AccessRecord
            {
                At = DateTimeOffset.FromUnixTimeMilliseconds(r.At),
                User = r.UserName,
                Action = r.Action,
                Bytes = r.Bytes,
                Outcome = r.Outcome,
                Reason = r.Reason,
            }).ToList(),
        });
    }

    /// <summary>The couple a path id names, if it exists and the caller's scope shows it; null answers 404 either way.</summary>
    public static async Task<Couple?> VisibleAsync(HttpContext context, string id)
    {
        if (ApiInput.Id(id) is not { } coupleId)
        {
            return null;
        }

        var couples = await context.RequestServices.GetRequiredService<CallStore>().GetCouplesAsync([coupleId], context.RequestAborted);
        return couples.TryGetValue(coupleId, out var couple) && ApiCaller.Of(context).User.CanSee(couple.CallingNumber, couple.CalledNumber) ? couple : null;
    }

    public static Job ToJob(JobStatus j) => new()
    {
        Id = j.Id,
        CoupleId = j.CoupleId,
        State = JobStates.Name(j.State),
        Progress = (int)j.Progress,
        Error = j.Error,
    };

    private static CallSummary Summary(Couple c, TimeZoneInfo? zone) => new()
    {
        Id = c.Id,
        Sid = c.Sid,
        Start = c.Start,
        Stop = c.Stop,
        StartLocal = zone is null ? null : TimeZoneInfo.ConvertTime(c.Start, zone),
        StopLocal = zone is null ? null : TimeZoneInfo.ConvertTime(c.Stop, zone),
        DurationSeconds = Math.Max(0, c.StopAt - c.StartAt) / 1000.0,
        Calling = new Party { Number = c.CallingNumber, Name = c.CallingName },
        Called = new Party { Number = c.CalledNumber, Name = c.CalledName },
        Media = MediaType.Names(c.Types),
    };

    private static string? Clean(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (value.Length > 255 || value.Any(char.IsControl))
        {
            throw new ApiInputException($"{name} is not valid.", name);
        }

        return value;
    }
}
