namespace CallMedia.Delivery;

public static class DeliveryRegistration
{
    /// <summary>What a redeemed token delivers, and the prepare answer of API.md §3.</summary>
    public static IServiceCollection AddDelivery(this IServiceCollection services)
    {
        services.AddSingleton<DeliveryPlanner>();
        services.AddSingleton<PrepareResponder>();
        return services;
    }
}
