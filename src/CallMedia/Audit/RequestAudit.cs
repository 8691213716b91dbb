using CallMedia.Hosting;

namespace CallMedia.Audit;

/// <summary>The one place that builds an audit record from a request: time, user, client address (API.md §7).</summary>
public sealed class RequestAudit(AuditLog log, TimeProvider clock)
{
    /// <summary>The record of this request, for callers that write it inside their own transaction.</summary>
    public AuditEntry Entry(HttpContext context, string? user, string action, string outcome, string? coupleIds = null, long? bytes = null) =>
        new(clock.GetUtcNow(), user, context.ClientAddress(), action, coupleIds, bytes, outcome);

    /// <summary>Writes a record built by <see cref="Entry"/> durably before returning.</summary>
    public Task WriteAsync(AuditEntry entry) => log.WriteAsync(entry, CancellationToken.None);

    /// <summary>Writes the record durably before returning.</summary>
    public Task WriteAsync(HttpContext context, string? user, string action, string outcome, string? coupleIds = null, long? bytes = null) =>
        log.WriteAsync(Entry(context, user, action, outcome, coupleIds, bytes), CancellationToken.None);
}
