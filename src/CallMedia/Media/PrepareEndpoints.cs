using System.Globalization;
using CallMedia.Audit;
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

    public static async Task<IResult> PrepareAsync(HttpContext context, SessionInfo session, string userName, long coupleId)
    {
        var services = context.RequestServices;
        var calls = services.GetRequiredService<CallStore>();
        var jobs = services.GetRequiredService<PrepareJobs>();
        var ct = context.RequestAborted;
        if ((await calls.GetFilesAsync([coupleId], ct))[coupleId].Any(f => f.Type == MediaType.Video))
        {
            return await StreamTokenAsync(context, session, userName, coupleId);
        }

        var id = await jobs.EnqueueAsync(coupleId, ct);
        if (WantsAsync(context.Request))
        {
            context.Response.Headers.Location = $"/callrec/jobs/{id.ToString(CultureInfo.InvariantCulture)}";
            var queued = await jobs.GetAsync(id, ct);
            return CallRecResults.Job(StatusCodes.Status202Accepted, id, queued?.State ?? "queued", (int)(queued?.Progress ?? 0), null);
        }

        var status = await jobs.WaitAsync(id, ct);
        return status.State == "done" ? await StreamTokenAsync(context, session, userName, coupleId) : Failed(status);
    }

    /// <summary>
    /// A stream token for the prepared video, like any other token: counted against the session's window (429 beyond
    /// it) and audited as <c>token.stream</c>.
    /// </summary>
    private static async Task<IResult> StreamTokenAsync(HttpContext context, SessionInfo session, string userName, long coupleId)
    {
        var token = await IssueStreamTokenAsync(context, session, userName, coupleId);
        return token is null ? TokenEndpoints.TooManyTokens(context) : CallRecResults.Reply(token);
    }

    private static Task<string?> IssueStreamTokenAsync(HttpContext context, SessionInfo session, string userName, long coupleId)
    {
        var clock = context.RequestServices.GetRequiredService<TimeProvider>();
        var client = context.ClientAddress();
        var couple = coupleId.ToString(CultureInfo.InvariantCulture);
        return context.RequestServices.GetRequiredService<TokenService>().IssueWithinWindowAsync(
            session,
            [coupleId],
            MediaType.Video,
            TokenAction.Stream,
            outcome => new AuditEntry(clock.GetUtcNow(), userName, client, $"token.{TokenCriteria.ActionName(TokenAction.Stream)}", couple, null, outcome),
            context.RequestAborted);
    }

    /// <summary>200 with the job (and, once done, a stream token); one 404 for a job that does not exist and one the caller may not see.</summary>
    private static async Task<IResult> JobAsync(string id, HttpContext context, SessionService sessions, UserStore users, CoupleAccess access, PrepareJobs jobs)
    {
        var ct = context.RequestAborted;
        var session = await sessions.ResolveAsync(context.SessionCandidate(), ct);
        if (session is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        var job = long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId) ? await jobs.GetAsync(jobId, ct) : null;
        var user = await users.LoadAccessAsync(session.UserId, ct);
        if (job is null || user is null || (await access.CheckAsync(user, Rights.VideoPrepare, [job.CoupleId], ct)).Verdict != AccessVerdict.Allowed)
        {
            // The same answer whether the job is missing or not the caller's, so job ids reveal nothing.
            return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such job.");
        }

        if (job.State == "failed")
        {
            return Failed(job);
        }

        string? token = null;
        if (job.State == "done" && (token = await IssueStreamTokenAsync(context, session, user.Name, job.CoupleId)) is null)
        {
            return TokenEndpoints.TooManyTokens(context);
        }

        return CallRecResults.Job(StatusCodes.Status200OK, job.Id, job.State, (int)job.Progress, token);
    }

    /// <summary>RFC 7240: <c>Prefer: respond-async</c>, possibly among other preferences.</summary>
    public static bool WantsAsync(HttpRequest request) =>
        request.Headers["Prefer"].SelectMany(v => (v ?? "").Split(',')).Any(p => p.Trim().StartsWith("respond-async", StringComparison.OrdinalIgnoreCase));

    private static IResult Failed(JobStatus job) =>
        CallRecResults.Error(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, job.Error ?? "Preparing the video failed.");
}
