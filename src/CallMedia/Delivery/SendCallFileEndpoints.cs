using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Delivery.Zip;
using CallMedia.Hosting;
using CallMedia.Storage;
using CallMedia.Tokens;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace CallMedia.Delivery;

/// <summary>Send Call File Service (API.md §3): <c>/callrec/sendcallfile.&lt;any extension&gt;</c>.</summary>
public static class SendCallFileEndpoints
{
    private const string Prefix = "/callrec/sendcallfile.";

    public static void MapSendCallFileEndpoints(this RouteGroupBuilder group) =>
        group.Map("/sendcallfile.{ext}", SendAsync).WithMetadata(RouteMarker.Instance);

    /// <summary>
    /// Goes before routing: a request the route <c>/callrec/sendcallfile.{ext}</c> would match (with an extension of 1
    /// to 16 ASCII letters and digits; letters of the path in any case, as routing matches them) gets that endpoint
    /// and its route value at once, and routing, seeing an endpoint set, skips its matching (the endpoint has no size
    /// limit or short-circuit metadata for routing to apply). Everything after routing runs as for a routed request:
    /// status pages, the HTTP metrics with the route as their label, the endpoint's own parameter binding. Matching
    /// among every endpoint of the service was about 9 % of a redemption's CPU (docs/benchmarks.md, seventeenth
    /// round); any other request, or one this does not recognise, is routed as always.
    /// </summary>
    public static IApplicationBuilder UseSendCallFileRoute(this IApplicationBuilder app)
    {
        var dataSource = app.ApplicationServices.GetRequiredService<EndpointDataSource>();
        Endpoint? endpoint = null;
        return app.Use((context, next) =>
        {
            if (context.GetEndpoint() is null && Extension(context.Request.Path.Value) is { } ext
                && (endpoint ??= dataSource.Endpoints.FirstOrDefault(e => e.Metadata.GetMetadata<RouteMarker>() is not null)) is { } found)
            {
                context.SetEndpoint(found);
                context.Request.RouteValues["ext"] = ext;
            }

            return next(context);
        });
    }

    /// <summary>The extension of a send call file path the lane takes (<see cref="UseSendCallFileRoute"/>), else null.</summary>
    internal static string? Extension(string? path)
    {
        if (path is null || path.Length <= Prefix.Length || path.Length > Prefix.Length + 16 || !path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var ext = path.AsSpan(Prefix.Length);
        return ext.ContainsAnyExcept(AsciiLettersAndDigits) ? null : ext.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> AsciiLettersAndDigits =
        System.Buffers.SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Marks the send call file endpoint for <see cref="UseSendCallFileRoute"/>.</summary>
    private sealed class RouteMarker
    {
        public static readonly RouteMarker Instance = new();
    }

    /// <summary>
    /// The body (200/206/304/416 through the framework's range processing, audited when the transfer ends), or the
    /// prepare answer; 302 without a live session; 400, 403, 404, 405, 409, 503 as framed errors (API.md §3 table).
    /// </summary>
    private static async Task<Results<AuditedTransfer, CallRecXml, CallRecError, SignInRedirect>> SendAsync(
        HttpContext context, Callers callers, CoupleAccess access, CallStore calls, TokenService tokens, DeliveryPlanner planner, PrepareResponder prepare, RequestAudit audit, CallMediaMetrics metrics, AccelRedirect accel)
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

        var caller = await callers.ResolveAsync(context);
        if (caller is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        // A range in a unit other than bytes is ignored, as HTTP says (RFC 9110 §14.2): the whole body, a plain GET.
        if (request.Headers.Range.Count > 0 && !request.Headers.Range.All(r => r is not null && r.TrimStart().StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.Remove(Microsoft.Net.Http.Headers.HeaderNames.Range);
        }

        var hasRange = request.Headers.Range.Count > 0;
        AuditEntry Record(string action, string? coupleList, long? bytes, string outcome) =>
            audit.Entry(context, caller.Name, action, outcome, coupleList, bytes);

        // A redemption's record is written in the redeeming transaction, open until the transfer ends; on PostgreSQL
        // the couples and their files are read in that transaction's pipeline too (no round trip of their own).
        CallStore.CouplesWithFiles? read = null;
        Task<TokenGrant?> AdmitAsync() => tokens.AdmitAsync(
            token,
            caller.Session,
            isHead,
            hasRange,
            Record("redeem", null, null, AuditLog.Started),
            g => read = calls.CouplesWithFilesRead(g.CoupleIds),
            ct);
        var grant = await AdmitAsync();
        if (grant is null && context.SessionCandidates().Count > 1)
        {
            // A browser signed in both through /callrec and the web app sends both session cookies, the /callrec one
            // first; the token is bound to one of them.
            var first = caller;
            foreach (var other in await callers.ResolveEachAsync(context))
            {
                if (other.Session == first.Session)
                {
                    continue;
                }

                caller = other;
                if ((grant = await AdmitAsync()) is not null)
                {
                    break;
                }
            }

            if (grant is null)
            {
                caller = first;
            }
        }

        if (grant is null)
        {
            await audit.WriteAsync(Record("send", null, null, "bad-token"));
            return Forbidden();
        }

        metrics.TokenAdmitted(grant.FirstUse);
        var action = grant.FirstUse ? "redeem" : hasRange ? "range" : "head";
        var coupleList = string.Join(',', grant.CoupleIds);

        // Closes the redemption's open record, or writes the record of a request that redeemed nothing.
        Task Close(long? bytes, string outcome) => grant.AuditSeq is { } seq
            ? tokens.CompleteAsync(seq, grant.OpenRecord, Record(action, coupleList, bytes, outcome))
            : audit.WriteAsync(Record(action, coupleList, bytes, outcome));

        var (verdict, couples, files) = await access.CheckWithFilesAsync(caller.User, TokenCriteria.RightFor(grant.Type, grant.Action), grant.CoupleIds, read, ct);
        if (verdict != AccessVerdict.Allowed)
        {
            // The right was revoked or the couple left the user's scope since the token was issued.
            await Close(null, "forbidden");
            return verdict == AccessVerdict.NotFound
                ? CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such couple.")
                : Forbidden();
        }

        // Players ask for ranges (even "bytes=0-") and need a length to seek: they get the finished transcode, which
        // takes well under a second for a call; a plain GET streams while it transcodes.
        var needsLength = isHead || hasRange;
        var options = DeliveryOptions.FromJson(grant.Options);
        var delivery = await planner.PlanAsync(grant, couples, files, needsLength, options, ct);
        switch (delivery)
        {
            case PrepareDelivery prepared:
                if (grant.AuditSeq is not null)
                {
                    await Close(0, "prepare");
                }

                await audit.WriteAsync(Record("prepare", coupleList, null, "requested"));
                var answer = (await prepare.RespondAsync(context, caller, prepared.CoupleId)).Result;
                return answer is CallRecXml xml ? xml : (CallRecError)answer;
            case FailedDelivery failed:
                await Close(0, $"failed-{failed.Status}");
                return Fail(context, failed);

            default:
                break;
        }

        // Who got which call, how many bytes, and whether the transfer completed (API.md §7): the record is in the
        // database before the first byte (open), and closed when the transfer ends.
        if (grant.AuditSeq is null)
        {
            var opened = Record(action, coupleList, null, AuditLog.Started);
            grant = grant with { AuditSeq = await tokens.OpenRecordAsync(opened), OpenRecord = opened };
        }

        // Storage:S3:RedirectDownloads (a trusted network): the store sends the bytes; the record says so, without a count.
        if (delivery is FileDelivery redirected && !isHead && context.RequestServices.GetService<S3MediaStorage>() is { } s3
            && await s3.PresignAsync(redirected.Path, redirected.ContentType, Disposition(redirected.Inline ? "inline" : "attachment", redirected.FileName), ct) is { } url)
        {
            return new AuditedTransfer(Results.Redirect(url), (_, _) => Close(null, "302-redirect"));
        }

        // Delivery:AccelRedirect (behind nginx): nginx sends the stored file; the record says so, without a count.
        if (delivery is FileDelivery offloaded && accel.InternalUri(offloaded) is { } internalUri)
        {
            return new AuditedTransfer(AccelRedirect.Result(internalUri, offloaded, grant.AuditSeq), (_, _) => Close(null, "offloaded"));
        }

        // The original product answers a POST like a GET, ranges included, and resuming clients rely on it; the
        // framework's range processing looks only at GET and HEAD.
        if (HttpMethods.IsPost(request.Method))
        {
            request.Method = HttpMethods.Get;
        }

        var kind = delivery switch { ZipDelivery => SentKind.Zip, LiveDelivery => SentKind.Transcode, _ => SentKind.File };
        return new AuditedTransfer(
            new TamperGuard(await RespondAsync(context, delivery, ct), ex => audit.WriteAsync(Record("tampered", coupleList, null, "media-tampered"))),
            (bytes, completed) =>
            {
                metrics.BytesSent(kind, bytes);
                return Close(bytes, $"{context.Response.StatusCode}-{(completed ? "complete" : "incomplete")}");
            });
    }

    private static CallRecError Forbidden() =>
        CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "The token is unknown, expired, already used or not yours.");

    /// <summary>
    /// The one responder: every body goes through the framework's range processing (Accept-Ranges, ETag,
    /// Last-Modified, If-Range, If-None-Match, 206 and 416); a plain stored file known by its identity is sent from one
    /// open of that very file (<see cref="StoredFileResult"/>), other plain files through the server's SendFileAsync,
    /// encrypted files and zips are read straight into the response in segments (<see cref="SegmentedStreamResult"/>).
    /// </summary>
    private static async Task<IResult> RespondAsync(HttpContext context, Delivery delivery, CancellationToken ct)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "private, no-transform";
        switch (delivery)
        {
            case FileDelivery file:
                {
                    // The storage decides: a plain local file goes through the server's file sending, anything else
                    // (an encrypted file) as a seekable stream of its plaintext, decrypted into the response.
                    var storage = context.RequestServices.GetRequiredService<IMediaStorage>();
                    var info = file.Stored ?? await storage.StatAsync(file.Path, ct) ?? throw new FileNotFoundException("the media file vanished");
                    headers.ContentDisposition = Disposition(file.Inline ? "inline" : "attachment", file.FileName);
                    var modified = TruncateToSeconds(info.LastModified);
                    var etag = EntityTagHeaderValue.Parse(file.ETag);
                    if (file.Stored is { PlainPath: not null, Identity: not null } looked)
                    {
                        return new StoredFileResult(storage, looked, file.ContentType, modified, etag);
                    }

                    return (file.Stored is not null ? info.PlainPath : storage.PlainLocalPath(file.Path)) is { } plain
                        ? Results.File(plain, file.ContentType, null, modified, etag, enableRangeProcessing: true)
                        : new SegmentedStreamResult(storage.OpenRead(file.Path), file.ContentType, modified, etag);
                }

            case ZipDelivery zip:
                // Exactly the original product's header, which existing clients match.
                headers.ContentDisposition = $"attachment; filename={zip.FileName}";
                return new SegmentedStreamResult(new ZipStream(zip.Layout, context.RequestServices.GetRequiredService<IMediaStorage>()), "application/zip", TruncateToSeconds(zip.LastModified), EntityTagHeaderValue.Parse(zip.ETag));

            case LiveDelivery live:
                headers.ContentDisposition = Disposition("inline", live.FileName);
                return new LiveStreamResult(live);

            default:
                throw new InvalidOperationException($"unknown delivery {delivery.GetType().Name}");
        }
    }

    private static CallRecError Fail(HttpContext context, FailedDelivery failed)
    {
        if (failed.Status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        return CallRecResults.Error(failed.Status, failed.Number, failed.Message);
    }

    /// <summary>RFC 6266: a plain ASCII <c>filename</c> for old clients and <c>filename*</c> in UTF-8 for the rest.</summary>
    public static string Disposition(string kind, string fileName)
    {
        // A name of letters, digits and the few marks both forms take as they are (most names: "<id>_<sid>.mp3") is
        // written the same in each: what the framework would write, without its encoders.
        if (fileName.Length > 0 && !fileName.AsSpan().ContainsAnyExcept(PlainNameCharacters))
        {
            return string.Concat(kind, "; filename=", fileName, "; filename*=UTF-8''", fileName);
        }

        var value = new ContentDispositionHeaderValue(kind);
        value.SetHttpFileName(fileName);
        return value.ToString();
    }

    /// <summary>Characters that are both an HTTP token's (a bare <c>filename</c>) and RFC 5987's attr-char (<c>filename*</c> unencoded).</summary>
    private static readonly System.Buffers.SearchValues<char> PlainNameCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~");

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
