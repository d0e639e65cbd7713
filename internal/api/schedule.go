package api

// scheduleRoutes are availability, slots and appointments (package visits).
func (a *API) scheduleRoutes() []Route {
	return nil
}
