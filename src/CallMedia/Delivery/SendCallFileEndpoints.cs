using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Delivery.Zip;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Tokens;
using Microsoft.Net.Http.Headers;

namespace CallMedia.Delivery;

/// <summary>Send Call File Service (API.md §3): <c>/callrec/sendcallfile.&lt;any extension&gt;</c>.</summary>
public static class SendCallFileEndpoints
{
    public static void MapSendCallFileEndpoints(this RouteGroupBuilder group) =>
        group.Map("/sendcallfile.{ext}", SendAsync);

    private static async Task<IResult> SendAsync(
        HttpContext context, SessionService sessions, UserStore users, CoupleAccess access, TokenService tokens, DeliveryPlanner planner, AuditLog audit, TimeProvider clock)
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        var isHead = HttpMethods.IsHead(request.Method);
        if (!isHead && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "GET, POST, HEAD";
            return CallRecResults.Error(StatusCodes.Status405MethodNotAllowed, ErrorNumbers.MethodNotAllowed, "Use GET, POST or HEAD.");
        }

        string? token;
        try
        {
            token = (await CallRecParameters.ReadAsync(request)).One("token");
        }
        catch (ParameterException ex)
        {
            return CallRecResults.Error(StatusCodes.Status400BadRequest, ErrorNumbers.BadRequest, ex.Message);
        }

        if (string.IsNullOrEmpty(token))
        {
            return CallRecResults.Error(StatusCodes.Status400BadRequest, ErrorNumbers.BadRequest, "The token parameter is required.");
        }

        var session = await sessions.ResolveRequestAsync(context);
        if (session is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        var hasRange = request.Headers.Range.Count > 0;
        var grant = await tokens.AdmitAsync(token, session, isHead, hasRange, ct);
        var user = await users.LoadAccessAsync(session.UserId, ct);
        if (grant is null || user is null)
        {
            audit.Write(new AuditEntry(clock.GetUtcNow(), user?.Name, context.ClientAddress(), "send", null, null, "bad-token"));
            return Forbidden();
        }

        context.RequestServices.GetRequiredService<Operations.CallMediaMetrics>().TokenAdmitted(grant.FirstUse);
        var action = grant.FirstUse ? "redeem" : hasRange ? "range" : "head";
        var coupleList = string.Join(',', grant.CoupleIds);
        var (verdict, couples) = await access.CheckAsync(user, TokenCriteria.RightFor(grant.Type, grant.Action), grant.CoupleIds, ct);
        if (verdict != AccessVerdict.Allowed)
        {
            // The right was revoked or the couple left the user's scope since the token was issued.
            audit.Write(new AuditEntry(clock.GetUtcNow(), user.Name, context.ClientAddress(), action, coupleList, null, "forbidden"));
            return verdict == AccessVerdict.NotFound
                ? CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such couple.")
                : Forbidden();
        }

        // Players ask for ranges (even "bytes=0-") and need a length to seek: they get the finished transcode, which
        // takes well under a second for a call; a plain GET streams while it transcodes.
        var needsLength = isHead || hasRange;
        var delivery = await planner.PlanAsync(grant, couples, needsLength, ct);
        if (delivery is PrepareDelivery prepare)
        {
            audit.Write(new AuditEntry(clock.GetUtcNow(), user.Name, context.ClientAddress(), "prepare", coupleList, null, "requested"));
            return await PrepareEndpoints.PrepareAsync(context, session, prepare.CoupleId);
        }

        var client = context.ClientAddress();
        if (delivery is FailedDelivery failed)
        {
            audit.Write(new AuditEntry(clock.GetUtcNow(), user.Name, client, action, coupleList, 0, $"failed-{failed.Status}"));
            return Respond(context, delivery);
        }

        // Who got which call, how many bytes, and whether the transfer completed (API.md §7).
        return new AuditedTransfer(
            Respond(context, delivery),
            (bytes, completed) => audit.Write(new AuditEntry(
                clock.GetUtcNow(), user.Name, client, action, coupleList, bytes, $"{context.Response.StatusCode}-{(completed ? "complete" : "incomplete")}")));
    }

    private static IResult Forbidden() =>
        CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "The token is unknown, expired, already used or not yours.");

    /// <summary>
    /// The one responder: every body goes through the framework's range processing (Accept-Ranges, ETag,
    /// Last-Modified, If-Range, If-None-Match, 206 and 416); stored files go through the server's SendFileAsync.
    /// </summary>
    private static IResult Respond(HttpContext context, Delivery delivery)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "private, no-transform";
        switch (delivery)
        {
            case FileDelivery file:
                {
                    var info = new FileInfo(file.Path);
                    headers.ContentDisposition = Disposition(file.Inline ? "inline" : "attachment", file.FileName);
                    return Results.File(file.Path, file.ContentType, null, TruncateToSeconds(info.LastWriteTimeUtc), EntityTagHeaderValue.Parse(file.ETag), enableRangeProcessing: true);
                }

            case ZipDelivery zip:
                // Exactly the original product's header, which existing clients match.
                headers.ContentDisposition = $"attachment; filename={zip.FileName}";
                return Results.Stream(new ZipStream(zip.Layout), "application/zip", null, TruncateToSeconds(zip.LastModified), EntityTagHeaderValue.Parse(zip.ETag), enableRangeProcessing: true);

            case LiveDelivery live:
                headers.ContentDisposition = Disposition("inline", live.FileName);
                return new LiveStreamResult(live);

            case FailedDelivery failed:
                if (failed.Status == StatusCodes.Status503ServiceUnavailable)
                {
                    headers.RetryAfter = "5";
                }

                return CallRecResults.Error(failed.Status, failed.Number, failed.Message);

            default:
                throw new InvalidOperationException($"unknown delivery {delivery.GetType().Name}");
        }
    }

    /// <summary>RFC 6266: a plain ASCII <c>filename</c> for old clients and <c>filename*</c> in UTF-8 for the rest.</summary>
    public static string Disposition(string kind, string fileName)
    {
        var value = new ContentDispositionHeaderValue(kind);
        value.SetHttpFileName(fileName);
        return value.ToString();
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    /// <summary>A transcode streamed as it is produced: no length and no ranges yet, but Accept-Ranges, since the cached result will take them.</summary>
    private sealed class LiveStreamResult(LiveDelivery live) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            using (live.Listener)
            {
                var response = httpContext.Response;
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "audio/mpeg";
                response.Headers.AcceptRanges = "bytes";
                response.Headers.CacheControl = "no-store";
                await live.Live.CopyToAsync(response.Body, httpContext.RequestAborted);
            }
        }
    }
}
