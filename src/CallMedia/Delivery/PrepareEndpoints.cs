using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Tokens;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMedia.Delivery;

/// <summary>
/// The prepare row of API.md §3: answered when the video is ready (with a fresh token for its stream), or at once
/// with 202 and the job's address for a client that sends <c>Prefer: respond-async</c>.
/// </summary>
public sealed class PrepareResponder(CallStore calls, TokenService tokens, PrepareJobs jobs, RequestAudit audit)
{
    /// <summary>200 <c>&lt;reply&gt;</c> with a stream token; 202 <c>&lt;job&gt;</c> for respond-async; 422 when the mix failed.</summary>
    public async Task<Results<CallRecXml, CallRecError>> RespondAsync(HttpContext context, Caller caller, long coupleId)
    {
        var ct = context.RequestAborted;
        if ((await calls.GetFilesAsync([coupleId], ct))[coupleId].Any(f => f.Type == MediaType.Video))
        {
            return await StreamTokenAsync(context, caller, coupleId);
        }

        var id = await jobs.EnqueueAsync(coupleId, ct);
        if (PrepareEndpoints.WantsAsync(context.Request))
        {
            context.Response.Headers.Location = PrepareEndpoints.JobPath(id);
            var queued = await jobs.GetAsync(id, ct);
            return CallRecResults.Job(StatusCodes.Status202Accepted, id, JobStates.Name(queued?.State ?? JobState.Queued), (int)(queued?.Progress ?? 0), null);
        }

        var status = await jobs.WaitAsync(id, ct);
        return status.State == JobState.Done ? await StreamTokenAsync(context, caller, coupleId) : PrepareEndpoints.Failed(status);
    }

    private async Task<Results<CallRecXml, CallRecError>> StreamTokenAsync(HttpContext context, Caller caller, long coupleId)
    {
        var token = await IssueStreamTokenAsync(context, caller, coupleId);
        return token is null ? TokenEndpoints.TooManyTokens(context) : CallRecResults.Reply(token);
    }

    /// <summary>
    /// A stream token for the prepared video, like any other token: counted against the session's window (null when
    /// it is full) and audited as <c>token.stream</c> in the token's transaction.
    /// </summary>
    public Task<string?> IssueStreamTokenAsync(HttpContext context, Caller caller, long coupleId) =>
        tokens.IssueWithinWindowAsync(
            caller.Session,
            [coupleId],
            MediaType.Video,
            TokenAction.Stream,
            outcome => audit.Entry(context, caller.Name, $"token.{TokenCriteria.ActionName(TokenAction.Stream)}", outcome, coupleId.ToString(CultureInfo.InvariantCulture)),
            ct: context.RequestAborted);
}

/// <summary>The job address a 202 prepare answer points to (API.md §3).</summary>
public static class PrepareEndpoints
{
    public static void MapPrepareEndpoints(this RouteGroupBuilder group) =>
        group.MapGet("/jobs/{id}", JobAsync);

    public static string JobPath(long id) => $"/callrec/jobs/{id.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>200 <c>&lt;job&gt;</c> (with a stream token once done); 302 without a live session; one 404 for a job that does not exist and one outside the caller's rights or scope; 422 failed; 429 when the session's token window is full.</summary>
    private static async Task<Results<CallRecXml, CallRecError, SignInRedirect>> JobAsync(
        string id, HttpContext context, Callers callers, CoupleAccess access, PrepareJobs jobs, PrepareResponder prepare)
    {
        var ct = context.RequestAborted;
        var caller = await callers.ResolveAsync(context);
        if (caller is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        var job = long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId) ? await jobs.GetAsync(jobId, ct) : null;
        if (job is null || (await access.CheckAsync(caller.User, Rights.VideoPrepare, [job.CoupleId], ct)).Verdict != AccessVerdict.Allowed)
        {
            // The same answer whether the job is missing or not the caller's, so job ids reveal nothing.
            return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such job.");
        }

        if (job.State == JobState.Failed)
        {
            return Failed(job);
        }

        string? token = null;
        if (job.State == JobState.Done && (token = await prepare.IssueStreamTokenAsync(context, caller, job.CoupleId)) is null)
        {
            return TokenEndpoints.TooManyTokens(context);
        }

        return CallRecResults.Job(StatusCodes.Status200OK, job.Id, JobStates.Name(job.State), (int)job.Progress, token);
    }

    /// <summary>RFC 7240: <c>Prefer: respond-async</c>, possibly among other preferences.</summary>
    public static bool WantsAsync(HttpRequest request) =>
        request.Headers["Prefer"].SelectMany(v => (v ?? "").Split(',')).Any(p => p.Trim().StartsWith("respond-async", StringComparison.OrdinalIgnoreCase));

    internal static CallRecError Failed(JobStatus job) =>
        CallRecResults.Error(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, job.Error ?? "Preparing the video failed.");
}
