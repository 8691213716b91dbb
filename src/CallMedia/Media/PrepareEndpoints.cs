using System.Globalization;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Tokens;

namespace CallMedia.Media;

/// <summary>
/// The prepare row of API.md §3: answered when the video is ready (with a fresh token for its stream), or at once
/// with 202 and the job's address for a client that sends <c>Prefer: respond-async</c>.
/// </summary>
public static class PrepareEndpoints
{
    public static void MapPrepareEndpoints(this RouteGroupBuilder group) =>
        group.MapGet("/jobs/{id}", JobAsync);

    public static async Task<IResult> PrepareAsync(HttpContext context, SessionInfo session, long coupleId)
    {
        var services = context.RequestServices;
        var calls = services.GetRequiredService<CallStore>();
        var tokens = services.GetRequiredService<TokenService>();
        var jobs = services.GetRequiredService<PrepareJobs>();
        var ct = context.RequestAborted;
        if ((await calls.GetFilesAsync([coupleId], ct))[coupleId].Any(f => f.Type == MediaType.Video))
        {
            return CallRecResults.Reply(await tokens.IssueAsync(session, [coupleId], MediaType.Video, TokenAction.Stream, ct));
        }

        var id = await jobs.EnqueueAsync(coupleId, ct);
        if (WantsAsync(context.Request))
        {
            context.Response.Headers.Location = $"/callrec/jobs/{id.ToString(CultureInfo.InvariantCulture)}";
            var queued = await jobs.GetAsync(id, ct);
            return CallRecResults.Job(StatusCodes.Status202Accepted, id, queued?.State ?? "queued", (int)(queued?.Progress ?? 0), null);
        }

        var status = await jobs.WaitAsync(id, ct);
        return status.State == "done"
            ? CallRecResults.Reply(await tokens.IssueAsync(session, [coupleId], MediaType.Video, TokenAction.Stream, ct))
            : Failed(status);
    }

    private static async Task<IResult> JobAsync(string id, HttpContext context, SessionService sessions, UserStore users, CoupleAccess access, PrepareJobs jobs, TokenService tokens)
    {
        var ct = context.RequestAborted;
        var session = await sessions.ResolveRequestAsync(context);
        if (session is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        var job = long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId) ? await jobs.GetAsync(jobId, ct) : null;
        var user = await users.LoadAccessAsync(session.UserId, ct);
        if (job is null || user is null)
        {
            return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such job.");
        }

        if ((await access.CheckAsync(user, Rights.VideoPrepare, [job.CoupleId], ct)).Verdict != AccessVerdict.Allowed)
        {
            return CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "Access to this job is not allowed.");
        }

        if (job.State == "failed")
        {
            return Failed(job);
        }

        var token = job.State == "done" ? await tokens.IssueAsync(session, [job.CoupleId], MediaType.Video, TokenAction.Stream, ct) : null;
        return CallRecResults.Job(StatusCodes.Status200OK, job.Id, job.State, (int)job.Progress, token);
    }

    /// <summary>RFC 7240: <c>Prefer: respond-async</c>, possibly among other preferences.</summary>
    public static bool WantsAsync(HttpRequest request) =>
        request.Headers["Prefer"].SelectMany(v => (v ?? "").Split(',')).Any(p => p.Trim().StartsWith("respond-async", StringComparison.OrdinalIgnoreCase));

    private static IResult Failed(JobStatus job) =>
        CallRecResults.Error(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, job.Error ?? "Preparing the video failed.");
}
