namespace CallMedia.Audit;

public static class AuditRegistration
{
    /// <summary>The hash-chained audit log and its batching writer.</summary>
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditChain>();
        services.AddSingleton<RequestAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditLog>());
        return services;
    }
}
